"""data stage of the MuVi toolkit."""
