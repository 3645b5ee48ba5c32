// Starts ReDoc on /redoc from local files only (system fonts: no font host).
const script = document.currentScript;
Redoc.init(script.dataset.openapiUrl, { hideDownloadButton: false }, document.getElementById("redoc"));
