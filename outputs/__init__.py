"""outputs: pure writers of what people get from a check result (findings.json, report and maps, DXF overlay, opinion, department products, summaries, the revision diff); no store, no Prefect."""
