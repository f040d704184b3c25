// open_url: loads this page afresh with the query parameters Streamlit sends (a new session, its state clean):
// the project picker opens another project so, as a new tab would.
export default function (args) {
  const url = new URL(window.location.href);
  url.search = new URLSearchParams(args.data.params || {}).toString();
  if (url.href !== window.location.href) window.location.assign(url.href);
  else window.location.reload();
}
