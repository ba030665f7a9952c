"""Reusable Streamlit widgets and the cached wrappers around services.

This is the only layer that caches: connections and fitted models with
``st.cache_resource``, query results with ``st.cache_data`` (with a ttl).
"""
