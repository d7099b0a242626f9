"""report stage of the MuVi toolkit."""
