// Draws GraphiQL against this server's /graphql. Every script and style the
// page uses is served by mognad itself (see README.md beside this file), so
// the page works without internet and asks no other origin for anything.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("mognad-config").textContent);
  var fetcher = GraphiQL.createFetcher({ url: config.endpoint });

  // The Headers tab starts with an example Authorization header whose value
  // is a placeholder ("<…>"). Until a real token replaces it, requests go
  // without it, so the schema and public figures load anonymously.
  function placeholder(name, value) {
    return name.toLowerCase() === "authorization" && String(value).indexOf("<") !== -1;
  }
  function send(params, options) {
    var headers = {};
    var given = (options && options.headers) || {};
    Object.keys(given).forEach(function (name) {
      if (!placeholder(name, given[name])) headers[name] = given[name];
    });
    return fetcher(params, Object.assign({}, options, { headers: headers }));
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: send,
      defaultQuery: config.query,
      defaultHeaders: config.headers,
      defaultEditorToolsVisibility: "headers",
    })
  );
})();
