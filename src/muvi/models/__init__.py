"""models stage of the MuVi toolkit."""
