// Extra webpack settings @jupyterlab/builder merges in (package.json jupyterlab.webpackConfig).
// The widget's renderer loader (../js/src/renderers.ts) has an import(url) of a blob: URL;
// this package passes its own importer (src/importer.ts), so webpack must not turn that
// expression into a bundle of every module beside it.
module.exports = {
  module: {
    parser: {
      javascript: { exprContextRegExp: /^$/, exprContextCritical: false },
    },
  },
};
