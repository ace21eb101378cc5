"""Mutual TLS material for the gRPC port: swfd refuses ``--auth-config`` without it, on a single node
too (docs/security.md). Made with the repository's own ``deploy/gen-certs.sh`` (openssl)."""

import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def peer_tls_args(root):
    """Makes a cluster CA and a peer certificate under ``root/certs``; returns swfd's ``--peer-*`` flags."""
    certs = os.path.join(root, "certs")
    subprocess.run(
        ["bash", os.path.join(REPO, "deploy", "gen-certs.sh"), certs],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return [
        "--peer-ca", os.path.join(certs, "swfd-cluster-ca.crt"),
        "--peer-cert", os.path.join(certs, "peer.crt"),
        "--peer-key", os.path.join(certs, "peer.key"),
        "--peer-allowed-names", "swfd-peer",
    ]
