"""features stage of the MuVi toolkit."""
