//go:build !linux

package peeruid

import "net/netip"

func tcpOwner(netip.AddrPort, netip.AddrPort) (uint32, error) { return 0, ErrUnsupported }
func listenerOwner(netip.AddrPort) (uint32, error)            { return 0, ErrUnsupported }
