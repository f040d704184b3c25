// main.js: the entry Streamlit calls on each run that changes the data: one View per element on the page.

export default function (args) {
  const { parentElement } = args;
  let view = VIEWS.get(parentElement);
  if (!view) {
    view = new View(parentElement);
    VIEWS.set(parentElement, view);
  }
  view.update(args);
  return () => {
    view.destroy();
    VIEWS.delete(parentElement);
  };
}
