"""Bulk intake of demands: 汇总表 spreadsheets (XLSX, CSV) and filled 附件1 Word forms."""
