"""Bulk export of demands as XLSX or CSV with the 附件1 labels as headers."""
