// Starts Swagger UI on /docs from local files only (no validator badge, which would call a remote host).
const script = document.currentScript;
window.ui = SwaggerUIBundle({
  url: script.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  validatorUrl: null,
  deepLinking: true,
  persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
});
