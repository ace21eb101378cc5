#!/usr/bin/env bash
# Makes the TLS material of a cluster with openssl, into deploy/certs/ (or $1): a CA for the SWF
# endpoint and its server certificate (for the names in $SWFD_TLS_NAMES, default
# "swfd,localhost,127.0.0.1"), a cluster CA and the nodes' peer certificate (DNS SAN swfd-peer, both
# serverAuth and clientAuth), and an admin token. Prints the kubectl commands that make the Secrets
# deploy/k8s/swfd.yaml expects. Certificates are valid for 825 days; re-run to rotate (swfd reloads
# them without a restart).
set -euo pipefail
out="${1:-$(dirname "$0")/certs}"
names="${SWFD_TLS_NAMES:-swfd,localhost,127.0.0.1}"
mkdir -p "$out"
cd "$out"
san=""
for n in $(echo "$names" | tr ',' ' '); do
  if [[ "$n" =~ ^[0-9.]+$ ]]; then san="${san}${san:+,}IP:$n"; else san="${san}${san:+,}DNS:$n"; fi
done
ca() { # name
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=$1" -keyout "$1.key" -out "$1.crt" 2>/dev/null
}
leaf() { # ca stem subjectAltName
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
    -keyout "$2.key" -out "$2.csr" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' "$3" >"$2.ext"
  openssl x509 -req -in "$2.csr" -CA "$1.crt" -CAkey "$1.key" -CAcreateserial -days 825 \
    -extfile "$2.ext" -out "$2.crt" 2>/dev/null
  rm -f "$2.csr" "$2.ext"
}
ca swfd-client-ca
leaf swfd-client-ca server "$san"
ca swfd-cluster-ca
leaf swfd-cluster-ca peer "DNS:swfd-peer"
[ -s admin-token ] || (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >admin-token && echo >>admin-token)
chmod 600 ./*.key admin-token
cat <<TXT
Made in $out: server.crt/.key (CA swfd-client-ca.crt, give it to clients), peer.crt/.key (CA
swfd-cluster-ca.crt), admin-token. For Kubernetes:
  kubectl create secret tls swfd-tls --cert=$out/server.crt --key=$out/server.key
  kubectl create secret generic swfd-peer-tls --from-file=ca.crt=$out/swfd-cluster-ca.crt \\
    --from-file=tls.crt=$out/peer.crt --from-file=tls.key=$out/peer.key
  kubectl create secret generic swfd-admin --from-file=token=$out/admin-token
TXT
