"""Segment Studio services: plain Python, never imports streamlit."""
