"""Lookalikes: grow a seed segment into the customers most like it, with a reach slider."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import lookalikes as ui, session
from components.background import together
from components.progress import progress_bar
from components.segment_actions import save_definition, save_in_callback, saved_notice
from components.segments import cached_library, workspace
from components.warehouse import ready_or_stop, warehouse_key
from services import rbac
from services.discovery.fitting import train_lookalike
from services.discovery.lookalike import ALGORITHMS, MAX_REACH, MIN_SEED
from services.errors import SegmentStudioError
from services.segments.features import FEATURES_BY_NAME

settings = session.settings()
identity = session.identity()
path = warehouse_key(settings)

st.title("Lookalikes")
# The saved segments and models (below) are read with the catalog.
ws, _, _ = ready_or_stop(settings, lambda key: together(lambda: workspace(key), lambda: cached_library(key, "", False),
                                                        lambda: ui.cached_models(key)))

can_train = rbac.can(identity.role, "run_lookalikes")
can_save = rbac.can(identity.role, "save_segments")
segments = cached_library(path, "", False)
names = dict(zip(segments["segment_id"], segments["name"]))

with st.expander("New lookalike model", expanded=ui.cached_models(path).empty):
    if not names:
        st.info("No saved segments to use as a seed: save one in the Segment Builder first.")
    else:
        seed_id = st.selectbox("Seed segment", list(names), format_func=names.get, key="lookalikes_seed")
        algorithm = st.radio("Model", list(ALGORITHMS), format_func=ALGORITHMS.get, horizontal=True,
                             key="lookalikes_algorithm")
        st.caption(f"The seed needs at least {MIN_SEED} members. A fifth of them is held out to measure quality.")
        st.button("Train lookalike", type="primary", key="lookalikes_train", disabled=not can_train,
                  on_click=lambda: st.session_state.update(lookalikes_request=True))
        if not can_train:
            st.caption(f"Your role ({identity.role}) cannot train lookalike models.")

if st.session_state.pop("lookalikes_request", False) and names:
    try:
        with progress_bar() as progress:
            saved, _, timings = train_lookalike(
                ws, ws.library.get(seed_id).definition, author=identity.user, seed_segment_id=seed_id,
                algorithm=algorithm, progress=progress)
    except SegmentStudioError as exc:
        st.error(f"No lookalike model: {exc}")
    else:
        ui.clear()
        st.session_state["lookalikes_selected_model"] = saved.model_id
        st.toast(f"Scored {saved.eligible:,} customers in {timings.total_s:.1f} s")
        st.rerun()

models = ui.cached_models(path)
if models.empty:
    st.info("No lookalike models yet. Pick a seed segment and train one above.")
    st.stop()
ids = list(models["model_id"])
current = st.session_state.get("lookalikes_selected_model")
if current not in ids:
    current = ids[0]
described = {r.model_id: f"{r.name} · {r.algorithm} · {r.created_ts:%Y-%m-%d %H:%M}" for r in models.itertuples()}
# Keyed by the current model, so a newly trained model replaces what the picker showed.
model_id = st.selectbox("Model", ids, index=ids.index(current), format_func=described.get,
                        key=f"lookalikes_model_{current}")
st.session_state["lookalikes_selected_model"] = model_id
model = ui.cached_model(path, model_id)


@st.fragment
def reach_view() -> None:
    """The slider and what depends on it: a lookup in the saved curve, never a refit."""
    reach = st.slider("Reach (% of eligible customers)", 1.0, MAX_REACH, 5.0, step=0.5, key="lookalikes_reach")
    point = model.at(reach)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Lookalikes", f"{int(point['members']):,}")
    m2.metric("Held-out recall", f"{point['heldout_recall']:.0%}",
              help="Share of seed members held out from training that this reach finds")
    m3.metric("AUC (held out)", f"{model.auc:.3f}",
              help="Chance a held-out seed member outranks an eligible customer; a lower bound")
    m4.metric("Similarity cut-off", f"{point['min_score']:.3f}")
    st.caption(f"Seed {model.seed.name}: {model.seed_size:,} members · {model.eligible:,} eligible customers "
               f"outside it · as of {model.as_of_date}")
    st.plotly_chart(ui.reach_curve(model.curve, reach), key="lookalikes_curve", config={"displayModeBar": False})

    name = st.text_input("Segment name", value=f"Lookalikes of {model.seed.name} at {reach:g}%",
                         key=f"lookalikes_name_{reach}")
    include_seed = st.toggle("Include the seed's own members", key="lookalikes_include_seed",
                             disabled=not model.seed_segment_id)

    def save() -> None:
        definition = model.segment(reach, include_seed=include_seed, name=name)
        save_in_callback("lookalikes", lambda: save_definition(
            path, definition, user=identity.user, role=identity.role,
            note=f"lookalike model {model.model_id} at {reach:g}% reach"))

    st.button("Save as segment", type="primary", key="lookalikes_save", on_click=save, disabled=not can_save)
    saved_notice("lookalikes")


reach_view()

st.subheader("What sets the seed apart")
factors = model.factors.head(8)
st.dataframe(pd.DataFrame({
    "feature": [FEATURES_BY_NAME[f].label if f in FEATURES_BY_NAME else f for f in factors["feature"]],
    "seed has": factors["direction"],
    "weight": factors["weight"],
    "seed mean": factors["seed_mean"],
    "everyone else": factors["base_mean"],
}), hide_index=True, width="stretch", key="lookalikes_factors",
    column_config={"weight": st.column_config.NumberColumn(format="%+.2f"),
                   "seed mean": st.column_config.NumberColumn(format="%.2f"),
                   "everyone else": st.column_config.NumberColumn(format="%.2f")})
