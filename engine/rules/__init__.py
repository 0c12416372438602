"""Rule building blocks shared by mappings and conditions (JSONPath field names)."""
