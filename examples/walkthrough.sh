#!/usr/bin/env bash
# A case from report to resolution, with curl: every role at work on one case, against a
# running service. Each value the script sends is taken from the service's previous answers
# (the case's id, its version, its dates), and any answer it does not expect stops it with a
# message on stderr and exit status 1. Needs curl and python3 (to read JSON), nothing else.
#
# Start the service with these tokens (the defaults below), in the repository:
#   export MEDIATION_TOKENS="reporter-token-0123456789:reporter:intake-form,caseworker-token-0123456789:caseworker:alice,auditor-token-0123456789:auditor:aude,analyst-token-0123456789:analyst:anna,dpo-token-0123456789:dpo:dora"
#   .venv/bin/mediation serve --port 8000
# then, in another terminal, in the same folder (the dossier is checked against the service's
# own public key, `mediation keys public`):
#   examples/walkthrough.sh
#
# Settings, from the environment: API (default http://127.0.0.1:8000); REPORTER_TOKEN,
# CASEWORKER_TOKEN, AUDITOR_TOKEN, ANALYST_TOKEN, DPO_TOKEN (default: those above); MEDIATION,
# the mediation command (default: .venv/bin/mediation in this repository); OUT, the folder the
# CSV exports and the dossier are written to (default: a new temporary folder).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
API=${API:-http://127.0.0.1:8000}
MEDIATION=${MEDIATION:-$ROOT/.venv/bin/mediation}
OUT=${OUT:-$(mktemp -d)}
REP="Authorization: Bearer ${REPORTER_TOKEN:-reporter-token-0123456789}"
CW="Authorization: Bearer ${CASEWORKER_TOKEN:-caseworker-token-0123456789}"
AUD="Authorization: Bearer ${AUDITOR_TOKEN:-auditor-token-0123456789}"
ANA="Authorization: Bearer ${ANALYST_TOKEN:-analyst-token-0123456789}"
DPO="Authorization: Bearer ${DPO_TOKEN:-dpo-token-0123456789}"
JSON='Content-Type: application/json'

fail() {
  printf 'walkthrough: %s\n' "$*" >&2
  exit 1
}

step() { printf '\n== %s\n' "$*"; }

# call STATUS METHOD PATH [curl options]: the body of the answer, which must have that status.
call() {
  local expected=$1 method=$2 path=$3 answer status
  shift 3
  answer=$(curl -sS -X "$method" -w '\n%{http_code}' "$API$path" "$@") ||
    fail "$method $path: no answer from $API"
  status=${answer##*$'\n'}
  answer=${answer%$'\n'*}
  [ "$status" = "$expected" ] || fail "$method $path answered $status, not $expected: $answer"
  printf '%s' "$answer"
}

# get JSON EXPRESSION: a value of a JSON answer, by a Python expression on it (`a`).
get() {
  python3 -S -c '
import json, sys
value = eval(sys.argv[2], {}, {"a": json.loads(sys.argv[1])})
print(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
' "$1" "$2"
}

# expect JSON EXPRESSION WHAT: stop unless the Python expression holds on the answer.
expect() {
  [ "$(get "$1" "bool($2)")" = "true" ] || fail "$3: expected $2, got $1"
}

command -v curl >/dev/null || fail "curl is needed"
command -v python3 >/dev/null || fail "python3 is needed (it reads the JSON answers)"
curl -sS -o /dev/null "$API/healthz" 2>/dev/null ||
  fail "no service at $API: start one with MEDIATION_TOKENS set as above and $MEDIATION serve"

# The service's today, from its clock (the Date header): the report's date is taken from it.
SERVED_ON=$(curl -sS -D - -o /dev/null "$API/healthz" | python3 -S -c '
import sys
from email.utils import parsedate_to_datetime
date = next(line.split(":", 1)[1] for line in sys.stdin if line.lower().startswith("date:"))
print(parsedate_to_datetime(date.strip()).date())
')
OCCURRED_ON=$(python3 -S -c 'import datetime, sys; print(datetime.date.fromisoformat(sys.argv[1]) - datetime.timedelta(days=6))' "$SERVED_ON")
KEY=walkthrough-$(python3 -S -c 'import uuid; print(uuid.uuid4())')

step "1. A business reports (the Idempotency-Key makes a retried request safe)"
REPORTED=$(call 201 POST /cases -H "$REP" -H "$JSON" -H "Idempotency-Key: $KEY" -d '{
  "company": {"name": "Atelier Dupont", "siren": "732 829 320", "size": "micro",
              "contact_name": "Jeanne Dupont", "contact_email": "jeanne@atelier-dupont.fr"},
  "platform": "amazon.fr",
  "description": "All 40 of our offers were delisted overnight, with no explanation.",
  "occurred_on": "'"$OCCURRED_ON"'",
  "category_hint": "delisting"
}')
echo "$REPORTED"
expect "$REPORTED" 'a["status"] == "reported" and a["version"] == 1' "the report"
CASE=$(get "$REPORTED" 'a["id"]')
CODE=$(get "$REPORTED" 'a["tracking_code"]')
VERSION=$(get "$REPORTED" 'a["version"]')

step "2. The business follows its case with its tracking code (no token)"
TRACKED=$(call 200 GET "/track/$CODE")
echo "$TRACKED"
expect "$TRACKED" 'set(a) == {"status", "reported_at", "updated_at"} and a["status"] == "reported"' \
  "the tracking page"

step "3. A caseworker qualifies it; If-Match refuses the command (412) if someone moved first"
ANSWER=$(call 200 POST "/cases/$CASE/qualify" -H "$CW" -H "If-Match: \"$VERSION\"" -H "$JSON" -d '{
  "category": "delisting", "priority": "high",
  "summary": "40 offers delisted without a statement of reasons",
  "p2b_articles": ["Art. 4(1)"], "assignee": "alice"}')
echo "$ANSWER"
expect "$ANSWER" 'a["status"] == "qualified"' "qualify"
STALE=$(call 412 POST "/cases/$CASE/qualify" -H "$CW" -H "If-Match: \"$VERSION\"" -H "$JSON" -d '{
  "category": "ranking", "priority": "low", "summary": "A stale edit"}')
echo "the same command on version $VERSION again: $(get "$STALE" 'a["title"]')"

step "4. Sends it to the platform: the answer is due in 15 days (5 when urgent)"
ANSWER=$(call 200 POST "/cases/$CASE/send-to-platform" -H "$CW" -H "$JSON" \
  -d '{"message": "Please state the reasons for the delisting (P2B Art. 4(1))."}')
echo "$ANSWER"
expect "$ANSWER" 'a["status"] == "awaiting_platform" and a["response_due"] > "'"$SERVED_ON"'"' \
  "send-to-platform"
echo "response due on $(get "$ANSWER" 'a["response_due"]')"

step "5. Records the platform's answer"
ANSWER=$(call 200 POST "/cases/$CASE/platform-response" -H "$CW" -H "$JSON" \
  -d '{"stance": "refused", "response": "The offers breached our policy."}')
echo "$ANSWER"
expect "$ANSWER" 'a["status"] == "platform_responded"' "platform-response"

step "6. Escalates to the business mediator (answers the mediator's file reference)"
ANSWER=$(call 200 POST "/cases/$CASE/escalate" -H "$CW" -H "$JSON" \
  -d '{"reason": "unsatisfactory_response", "note": "No reason given for 40 offers."}')
echo "$ANSWER"
expect "$ANSWER" 'a["status"] == "with_mediator" and a["mediator_reference"]' "escalate"

step "7. Resolves it"
ANSWER=$(call 200 POST "/cases/$CASE/resolve" -H "$CW" -H "$JSON" \
  -d '{"outcome": "resolved", "summary": "Offers relisted after the mediator intervened."}')
echo "$ANSWER"
expect "$ANSWER" 'a["status"] == "resolved"' "resolve"
VERSION=$(get "$ANSWER" 'a["version"]')
POSITION=$(get "$ANSWER" 'a["position"]')

step "8. An auditor replays it"
NOW=$(call 200 GET "/cases/$CASE" -H "$AUD")
expect "$NOW" 'a["version"] == '"$VERSION"' and a["status"] == "resolved"' "the case now"
echo "now: version $VERSION, $(get "$NOW" 'a["status"]'), reported at $(get "$NOW" 'a["reported_at"]')"
THEN=$(call 200 GET "/cases/$CASE?version=2" -H "$AUD")
expect "$THEN" 'a["version"] == 2 and a["status"] == "qualified"' "the case at version 2"
echo "right after event 2: $(get "$THEN" 'a["status"]'), updated at $(get "$THEN" 'a["updated_at"]')"
# The instant the case was qualified, as the service recorded it: the case as it stood then.
AT=$(python3 -S -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' \
  "$(get "$THEN" 'a["updated_at"]')")
AS_OF_THEN=$(call 200 GET "/cases/$CASE?at=$AT" -H "$AUD")
expect "$AS_OF_THEN" 'a["version"] == 2' "the case at the instant of event 2"
echo "at that instant: version $(get "$AS_OF_THEN" 'a["version"]'), $(get "$AS_OF_THEN" 'a["status"]')"
HISTORY=$(call 200 GET "/cases/$CASE/history" -H "$AUD")
expect "$HISTORY" 'len(a["events"]) == '"$VERSION" "the history"
get "$HISTORY" '"\n".join("{version} {type} by {actor} at {recorded_at}".format(**e) for e in a["events"])'
INTEGRITY=$(call 200 GET "/cases/$CASE/integrity" -H "$AUD")
echo "$INTEGRITY"
expect "$INTEGRITY" 'a["verified"] is True and a["problems"] == []' "the integrity report"

step "9. The auditor checks the case's dossier offline, against the service's public key"
call 200 GET "/cases/$CASE/dossier" -H "$AUD" >"$OUT/dossier.json"
PUBLIC_KEY=${MEDIATION_TRUSTED_PUBLIC_KEY:-$("$MEDIATION" keys public)} ||
  fail "no public key: run this where the service runs (its MEDIATION_* settings), or set MEDIATION_TRUSTED_PUBLIC_KEY"
"$MEDIATION" audit verify-dossier "$OUT/dossier.json" --public-key "$PUBLIC_KEY" ||
  fail "the dossier in $OUT/dossier.json does not verify"

step "10. An analyst reads the figures (min_position: once they reflect this case)"
FIGURES=$(call 200 GET "/statistics/platforms/amazon?min_position=$POSITION" -H "$ANA")
expect "$FIGURES" 'a["cases"] >= 1 and a["sent"] >= 1 and a["answer_rate"]["denominator"] == a["sent"]' \
  "the platform's figures"
get "$FIGURES" '"amazon: {cases} case(s), {sent} sent, {answered} answered, answer rate {r[numerator]}/{r[denominator]} = {r[value]}".format(**a, r=a["answer_rate"])'
REPORTED_ON=$(get "$NOW" 'a["reported_at"][:10]')
TOTALS=$(call 200 GET "/statistics?from=$REPORTED_ON&to=$REPORTED_ON&min_position=$POSITION" -H "$ANA")
expect "$TOTALS" 'a["totals"]["reported"] >= 1' "the statistics of the day reported"
echo "reported on $REPORTED_ON: $(get "$TOTALS" 'a["totals"]')"
for table in platforms platform-category; do
  HEADERS=$OUT/headers-$table
  curl -sS -D "$HEADERS" -o "$OUT/export-$table.csv" -H "$ANA" \
    "$API/statistics/export.csv?lang=fr&table=$table&min_position=$POSITION" ||
    fail "the $table export: no answer"
  NAME=$(python3 -S -c '
import re, sys
text = open(sys.argv[1], encoding="latin-1").read()
assert text.split()[1] == "200", text.splitlines()[0]
print(re.search(r"filename=\"([^\"]+)\"", text).group(1))
' "$HEADERS") || fail "the $table export: $(head -n 1 "$HEADERS")"
  mv "$OUT/export-$table.csv" "$OUT/$NAME"
  echo "$OUT/$NAME:"
  head -n 2 "$OUT/$NAME"
done

step "11. The data protection officer erases the business's personal data"
ANSWER=$(call 200 POST "/cases/$CASE/erase-personal-data" -H "$DPO" -H "$JSON" \
  -d '{"reason": "GDPR request from the business"}')
echo "$ANSWER"
ERASED=$(call 200 GET "/cases/$CASE" -H "$AUD")
expect "$ERASED" 'a["company"]["contact_email"] == "[effacé]"' "the erased case"
echo "contact e-mail now: $(get "$ERASED" 'a["company"]["contact_email"]')"
INTEGRITY=$(call 200 GET "/cases/$CASE/integrity" -H "$AUD")
expect "$INTEGRITY" 'a["verified"] is True' "the erased case's integrity"
echo "its history still verifies: $(get "$INTEGRITY" 'a["events"]') events"

step "Done: case $CASE, from report to erasure"
