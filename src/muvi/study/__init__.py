"""study stage of the MuVi toolkit."""
