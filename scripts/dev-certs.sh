#!/bin/sh
# Makes a test CA and a TLS certificate for Azurite (hosts azurite, localhost, 127.0.0.1) in the
# folder given (default .dev-certs). Azurite needs HTTPS to accept bearer tokens, and rustls
# refuses a self-signed certificate used as its own CA, hence the separate CA.
set -eu
dir="${1:-.dev-certs}"
mkdir -p "$dir"
cd "$dir"
[ -f leaf.pem ] && exit 0
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem \
  -days 30 -subj /CN=aml-scorer-dev-CA -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout leaf.key -out leaf.csr -subj /CN=azurite
printf 'basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:azurite,DNS:localhost,IP:127.0.0.1\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' > leaf.ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 30 -extfile leaf.ext
chmod 644 ./*.pem ./*.key
echo "certificates in $dir"
