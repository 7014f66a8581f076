"""Tests of the beds operator API."""
