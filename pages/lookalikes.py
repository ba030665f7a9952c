"""Lookalikes: grow a seed segment into the customers most like it, with a reach slider."""

from __future__ import annotations

import streamlit as st

from components import lookalikes as ui, session
from components.background import together
from components.pickers import saved_size, segment_picker
from components.progress import progress_bar
from components.segment_actions import save_definition, save_in_callback, saved_notice
from components.segments import cached_library, workspace
from components.text import plain
from components.warehouse import ready_or_stop, warehouse_key
from services import rbac
from services.discovery.fitting import train_lookalike
from services.discovery.lookalike import ALGORITHMS, MAX_REACH, MIN_SEED, WEIGHT_UNITS, describe_factors
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
        seed_id = segment_picker("Seed segment", segments, key="lookalikes_seed",
                                 help=f"A seed needs at least {MIN_SEED} members: sizes as last saved")
        algorithm = st.radio("Model", list(ALGORITHMS), format_func=ALGORITHMS.get, horizontal=True,
                             key="lookalikes_algorithm")
        size = saved_size(segments, seed_id)
        too_small = size is not None and size < MIN_SEED
        if too_small:
            st.warning(f"This seed had {size:,} members when saved: a lookalike needs a seed of at least "
                       f"{MIN_SEED}. Pick a larger segment, or loosen its rule in the Segment Builder.")
        else:
            st.caption(f"The seed needs at least {MIN_SEED} members. A fifth of them is held out to measure "
                       "quality.")
        why = session.why_not("run_lookalikes", "train lookalike models") or (
            f"The seed is smaller than {MIN_SEED} members" if too_small else None)
        st.button("Train lookalike", type="primary", key="lookalikes_train", disabled=why is not None, help=why,
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
described = {r.model_id: f"{r.name} · {ALGORITHMS.get(r.algorithm, r.algorithm)} · {r.created_ts:%Y-%m-%d %H:%M}"
             for r in models.itertuples()}
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
    st.caption(f"Seed {plain(model.seed.name)}: {model.seed_size:,} members · {model.eligible:,} eligible customers "
               f"outside it · as of {model.as_of_date}")
    st.plotly_chart(ui.reach_curve(model.curve, reach), key="lookalikes_curve", config={"displayModeBar": False})

    # The name follows the reach until the user types one; then it stays theirs (it reset on every move).
    name_key, suggested = f"lookalikes_name_{model.model_id}", f"Lookalikes of {model.seed.name} at {reach:g}%"
    if st.session_state.get(name_key, suggested) == st.session_state.get(f"{name_key}_suggested", suggested):
        st.session_state[name_key] = suggested
    st.session_state[f"{name_key}_suggested"] = suggested
    name = st.text_input("Segment name", key=name_key)
    include_seed = st.toggle("Include the seed's own members", key="lookalikes_include_seed",
                             disabled=not model.seed_segment_id)

    def save() -> None:
        definition = model.segment(reach, include_seed=include_seed, name=name)
        save_in_callback("lookalikes", lambda: save_definition(
            path, definition, user=identity.user, role=identity.role,
            note=f"lookalike model {model.model_id} at {reach:g}% reach"))

    st.button("Save as segment", type="primary", key="lookalikes_save", on_click=save, disabled=not can_save,
              help=session.why_not("save_segments", "save segments"))
    saved_notice("lookalikes")


reach_view()

st.subheader("What sets the seed apart")
factors = describe_factors(model.factors.head(8), model.algorithm)
units = {f: FEATURES_BY_NAME[f].unit for f in factors["feature"] if f in FEATURES_BY_NAME}
factors["unit"] = factors["feature"].map(units).fillna("")
factors["feature"] = [FEATURES_BY_NAME[f].label if f in FEATURES_BY_NAME else f for f in factors["feature"]]
st.dataframe(factors[["feature", "seed has", "seed mean", "everyone else", "unit", "model weight"]],
             hide_index=True, width="stretch", key="lookalikes_factors", column_config={
                 "feature": "Feature", "seed has": "Seed has", "unit": "Unit",
                 "seed mean": st.column_config.NumberColumn("Seed average", format="%.2f"),
                 "everyone else": st.column_config.NumberColumn("Everyone else", format="%.2f"),
                 "model weight": st.column_config.NumberColumn(
                     f"Model weight ({WEIGHT_UNITS.get(model.algorithm, 'model units')})", format="%+.2f",
                     help="How much the model leans on the feature once the others are known: features that "
                          "move together share it, so its sign can differ from the averages")})
st.caption("*Seed has* compares the averages; the model weight is the model's own measure, ordered by size.")
