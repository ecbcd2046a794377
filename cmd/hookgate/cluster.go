package main

// `hookgate cluster certs|status|join|remove`: certs writes a CA and node
// certificates for trying a cluster; the others go through a running
// node's admin API (/v1/cluster), which passes membership changes to the
// leader over the cluster's mutual TLS.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/hookgate/hookgate/gateway/config"
	"github.com/hookgate/hookgate/store/cluster"
)

const clusterUsage = `cluster certs --dir DIR --nodes n1,n2,n3 [--hosts h1,h2]
       cluster status [--addr URL] [--json]
       cluster join --id ID --raft-addr HOST:PORT [--addr URL]
       cluster remove --id ID [--addr URL]`

func runCluster(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: cluster needs a subcommand (certs, status, join, remove)", errUsage)
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "certs":
		fs := newFlags("cluster certs", stderr)
		dir := fs.String("dir", "", "directory to write ca.pem, ca-key.pem and <node>.pem, <node>-key.pem to (created; must not hold them already)")
		nodes := fs.String("nodes", "", "comma-separated node ids, e.g. n1,n2,n3")
		hosts := fs.String("hosts", "", "extra DNS names or IPs for every node certificate (localhost, 127.0.0.1 and ::1 are always in)")
		if err := parseOnlyFlags(fs, args); err != nil {
			return err
		}
		if *dir == "" || *nodes == "" {
			return fmt.Errorf("%w: --dir and --nodes are required", errUsage)
		}
		ids := config.ParsePeers(*nodes)
		if err := cluster.WriteCerts(*dir, cluster.CertOptions{Nodes: ids, Hosts: config.ParsePeers(*hosts)}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s/ca.pem (and ca-key.pem: keep it offline) and a certificate and key for %s\nset [cluster] tls_dir = %q on every node\n",
			*dir, strings.Join(ids, ", "), *dir)
		return nil
	case "status":
		fs := newFlags("cluster status", stderr)
		addr, tokenEnv := adminFlags(fs)
		asJSON := fs.Bool("json", false, "print the JSON of GET /v1/cluster")
		if err := parseOnlyFlags(fs, args); err != nil {
			return err
		}
		c, err := newAdminClient(*addr, *tokenEnv)
		if err != nil {
			return err
		}
		var st cluster.Status
		if err := c.do("GET", "/v1/cluster", &st); err != nil {
			return err
		}
		if *asJSON {
			b, _ := json.MarshalIndent(st, "", "  ")
			_, err := fmt.Fprintln(stdout, string(b))
			return err
		}
		fmt.Fprintf(stdout, "leader %s, term %d\n", orDash(st.Leader), st.Term)
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tRAFT ADDR\tSTATE\tAPPLIED\tLAST CONTACT")
		for _, n := range st.Nodes {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", n.ID, n.RaftAddr, n.State, n.AppliedIndex, n.LastContact)
		}
		return tw.Flush()
	case "join", "remove":
		fs := newFlags("cluster "+sub, stderr)
		addr, tokenEnv := adminFlags(fs)
		id := fs.String("id", "", "node id")
		raftAddr := ""
		if sub == "join" {
			fs.StringVar(&raftAddr, "raft-addr", "", "the new node's cluster.raft_addr")
		}
		if err := parseOnlyFlags(fs, args); err != nil {
			return err
		}
		if *id == "" || (sub == "join" && raftAddr == "") {
			return fmt.Errorf("%w: --id%s required", errUsage, map[bool]string{true: " and --raft-addr are", false: " is"}[sub == "join"])
		}
		c, err := newAdminClient(*addr, *tokenEnv)
		if err != nil {
			return err
		}
		q := url.Values{"id": {*id}}
		if raftAddr != "" {
			q.Set("raft_addr", raftAddr)
		}
		if err := c.do("POST", "/v1/cluster/"+sub+"?"+q.Encode(), nil); err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s: %s done\n", *id, sub)
		return err
	}
	return fmt.Errorf("%w: unknown cluster subcommand %q", errUsage, sub)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
