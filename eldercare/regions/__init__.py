"""Administrative regions: province > city > county > township > village."""
