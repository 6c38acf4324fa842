package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/mfad/mfad/daemon/awsconfig"
)

// profileArgCommands take a profile as their first argument.
var profileArgCommands = []string{"exec", "add", "import", "remove"}

// completeProfiles makes the shell offer the config file's profile names
// wherever a command takes a profile: every --profile flag, and the first
// argument of the commands above.
func completeProfiles(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Flags().Lookup("profile") != nil {
			_ = c.RegisterFlagCompletionFunc("profile", profileNames)
		}
		for _, name := range profileArgCommands {
			if c.Parent() == root && c.Name() == name {
				c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
					if len(args) > 0 {
						// exec's command, after --: the shell's own completion.
						return nil, cobra.ShellCompDirectiveDefault
					}
					return profileNames(cmd, args, toComplete)
				}
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// profileNames lists the config file's profiles that start with toComplete.
func profileNames(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	names, err := awsconfig.Names()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var out []cobra.Completion
	for _, n := range names {
		if strings.HasPrefix(n, toComplete) {
			out = append(out, n)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
