"""annotations stage of the MuVi toolkit."""
