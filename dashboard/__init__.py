"""The Streamlit dashboard: patient home screen, therapist review, admin accounts (docs/dashboard.md)."""
