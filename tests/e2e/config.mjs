// The trainer's configuration; the fixture rewrites it between two runs so
// their code snapshots differ.
export const config = {model: "tiny-mlp", hidden: 64};
