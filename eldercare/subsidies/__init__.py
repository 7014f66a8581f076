"""Subsidy disbursement: programs, enrolments, monthly batches, bank files, reconciliation."""
