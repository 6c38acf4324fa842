module github.com/mfad/mfad

go 1.26.8

require (
	github.com/aws/aws-sdk-go-v2/credentials v1.21.0
	github.com/aws/aws-sdk-go-v2/feature/ec2/imds v1.20.9
	github.com/aws/smithy-go v1.28.9
	github.com/go-chi/chi/v5 v5.5.0
)

require (
	github.com/aws/aws-sdk-go-v2 v1.48.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
