"""A message said once after the rerun that shows what an action did (``segapp.flash``, AppTest): the page
that clicked says it at the place it names, the next run no more; two places keep their own."""
from streamlit.testing.v1 import AppTest


def _page() -> None:
    import streamlit as st

    from segapp.flash import flash, show_flash

    show_flash("top")
    st.session_state["runs"] = st.session_state.get("runs", 0) + 1
    if st.button("Save", key="save"):
        flash("top", "Saved the mask", more=[("warning", "Left as it is: b.png")])
    if st.button("Reject", key="reject"):
        flash("bottom", "The proposal went to the trash", "info")
    st.divider()
    show_flash("bottom")


def test_the_message_is_shown_once_after_the_rerun():
    at = AppTest.from_function(_page).run()
    assert not at.success and not at.info
    at.button(key="save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.success] == ["Saved the mask"]
    assert [w.value for w in at.warning] == ["Left as it is: b.png"]
    assert at.session_state["runs"] == 3  # the first run, the click's, and the rerun that said it
    at.run()
    assert not at.success and not at.warning  # once


def test_each_place_says_its_own_message():
    at = AppTest.from_function(_page).run()
    at.button(key="reject").click().run()
    assert [i.value for i in at.info] == ["The proposal went to the trash"] and not at.success
    main = list(at.main)
    assert main.index(at.info[0]) > main.index(at.divider[0])  # said below, where "bottom" is shown
    at.run()
    assert not at.info
