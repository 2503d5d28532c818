#!/bin/sh
# Imports Flywheel's Kibana saved objects (data view logs-flywheel*, saved searches) once Kibana is up.
# Idempotent: objects keep their ids and are overwritten, so it can run at every start-up, e.g. as a
# one-shot docker-compose service:
#
#   kibana-setup:
#     image: curlimages/curl:8.10.1
#     entrypoint: ["/bin/sh", "/kibana/import-saved-objects.sh"]
#     environment: { KIBANA_URL: "http://kibana:5601" }
#     volumes: ["./infra/kibana:/kibana:ro"]
#     depends_on: { kibana: { condition: service_healthy } }
#
# Environment:
#   KIBANA_URL            default http://kibana:5601
#   KIBANA_USERNAME/KIBANA_PASSWORD   basic auth when security is on (never printed)
#   KIBANA_WAIT_SECONDS   how long to wait for Kibana to report "available" (default 300)
#   SAVED_OBJECTS_FILE    default: saved-objects.ndjson next to this script
# Needs only sh and curl. Exits 0 when every object was imported, 1 otherwise.
set -eu

KIBANA_URL="${KIBANA_URL:-http://kibana:5601}"
KIBANA_URL="${KIBANA_URL%/}"
FILE="${SAVED_OBJECTS_FILE:-$(dirname "$0")/saved-objects.ndjson}"
WAIT_SECONDS="${KIBANA_WAIT_SECONDS:-300}"

if [ ! -r "$FILE" ]; then
  echo "import-saved-objects: cannot read $FILE" >&2
  exit 1
fi

# curl options shared by every call; credentials go through a config on stdin so they never appear in `ps`.
kibana() {
  if [ -n "${KIBANA_USERNAME:-}" ]; then
    printf 'user = "%s:%s"\n' "$KIBANA_USERNAME" "${KIBANA_PASSWORD:-}" | curl --config - "$@"
  else
    curl "$@"
  fi
}

echo "import-saved-objects: waiting for Kibana at $KIBANA_URL (up to ${WAIT_SECONDS}s)"
deadline=$(( $(date +%s) + WAIT_SECONDS ))
until kibana -fsS "$KIBANA_URL/api/status" 2>/dev/null | grep -q '"overall":{[^}]*"level":"available"'; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "import-saved-objects: Kibana at $KIBANA_URL was not available within ${WAIT_SECONDS}s" >&2
    exit 1
  fi
  sleep 5
done

response=$(kibana -sS -X POST "$KIBANA_URL/api/saved_objects/_import?overwrite=true" \
  -H 'kbn-xsrf: true' \
  --form "file=@$FILE;type=application/ndjson")
echo "import-saved-objects: $response"
case "$response" in
  *'"success":true'*) echo "import-saved-objects: done" ;;
  *) echo "import-saved-objects: import failed" >&2; exit 1 ;;
esac
