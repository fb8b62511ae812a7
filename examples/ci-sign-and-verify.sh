#!/usr/bin/env bash
# A release job for the CI signing node: sign every artifact, then verify
# before upload, refusing to publish anything that does not verify.
#
#   SIGNING_KEY=/path/to/signing-subkey.asc   (from `keycycle export signing-subkey`,
#                                              e.g. written from a Zuul secret / private hiera)
#   CERTS=/path/to/keys                        (the published cycle keys, e.g.
#                                              openstack/releases doc/source/static/)
#   ./ci-sign-and-verify.sh dist/
set -euo pipefail
dist="${1:?usage: $0 DIST_DIR}"
: "${SIGNING_KEY:?set SIGNING_KEY to the exported signing subkey}"
: "${CERTS:?set CERTS to the published cycle keys}"

keycycle --batch sign --key "$SIGNING_KEY" --recursive "$dist"
# Verify exactly what will be uploaded (every file under $dist, each
# FILE.asc checked with its FILE); a non-zero exit stops the job.
keycycle --batch verify --cert "$CERTS" --recursive "$dist"
