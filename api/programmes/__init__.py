"""Programmes, demand collection campaigns, standing service units and the 附件2/3 reports."""
