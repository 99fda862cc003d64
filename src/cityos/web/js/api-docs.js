/**
 * The API browser (/docs): Swagger UI on the server's own OpenAPI document. A file of its
 * own rather than an inline script: the page's Content-Security-Policy allows scripts from
 * this server only (script-src 'self'), never inline ones.
 * validatorUrl null: Swagger UI would otherwise send the document to a public validator.
 */
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  docExpansion: "none",
  defaultModelsExpandDepth: 0,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
