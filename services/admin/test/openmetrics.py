"""Reads OpenMetrics text on stdin and prints its families as JSON, parsed by Debian's
python3-prometheus-client (the strict OpenMetrics parser: it refuses a text without `# EOF`,
bad escapes, a counter sample without `_total`, a family declared twice)."""
import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

families = []
for family in text_string_to_metric_families(sys.stdin.read()):
    families.append({
        'name': family.name,
        'type': family.type,
        'help': family.documentation,
        'samples': [{'name': s.name, 'labels': s.labels, 'value': s.value} for s in family.samples],
    })
json.dump(families, sys.stdout)
