#!/bin/sh
# Entry point of the Flywheel image: `docker run flywheel dist/services/<name>/src/main.js`.
#
# Replicas of one compose service share an image and an environment, and every one of them is PID 1 in its
# container, so the default INSTANCE_ID (`<service>-<pid>`) would be the same for all of them (in logs, in
# metrics, in the collector's event `source`). Unless INSTANCE_ID is set (Kubernetes sets it to the pod
# name), each container takes `<service>-<hostname>`; the hostname is the container id there.
set -eu

if [ "$#" -eq 0 ]; then
  echo "usage: <image> dist/services/<name>/src/main.js   (services: $(ls /app/dist/services | tr '\n' ' '))" >&2
  exit 64
fi

if [ -z "${INSTANCE_ID:-}" ]; then
  service=$(printf '%s' "$1" | sed -n 's#^\(/app/\)\{0,1\}dist/services/\([^/]*\)/.*#\2#p')
  INSTANCE_ID="${service:-flywheel}-$(hostname)"
  export INSTANCE_ID
fi

# exec: node becomes PID 1 and receives SIGTERM itself (graceful shutdown of consumers and HTTP).
exec node --enable-source-maps "$@"
