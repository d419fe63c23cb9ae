"""The app's state, apart from Qt (as napari's ViewerModel is apart from its _qt widgets).

- app_state.AppState: the open model and its runner, the inputs, the selection, the newest run
- selection.Selection: what the views show and where the person looks; which heads are ablated
- runs: Inputs, Run, Outcome, Picture, the plain values a run is made of
- events.Event: the observer widgets connect to; jobs: lanes that run work off the GUI thread
"""
