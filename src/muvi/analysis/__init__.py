"""analysis stage of the MuVi toolkit."""
