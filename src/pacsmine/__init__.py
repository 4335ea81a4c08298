"""pacsmine: interleaved text/image mining of a PACS export.

The pipeline, one module per stage (see docs/workspace.md for what each writes):

    phantom   synthetic PACS export with ground truth (kept apart from the mining code)
    ingest    reports and images of an export -> workspace tables and 8-bit PNGs
    nlp       sections, sentences, tokens, key-image references, disease terms, negation, bigrams
    topics    document, second-hierarchy and sentence-level LDA labels
    vectors   word2vec on the report sentences, multi-word terms as one token
    images    the key-image data set and one CNN per topic level (Table 3)
    retrieval bigram regression, keywords by retrieval, a contrastive image-text model, predict
    evaluate  scores every stage present against a ground truth

Later stages (report, serve) plug into the same workspace.
"""

__version__ = "0.1.0"


def predict(paths, workspace, config=None):
    """Topics, keywords and nearest key images of new images: :func:`pacsmine.retrieval.predict.predict`
    (imported on first use, so that ``import pacsmine`` stays light)."""
    from .retrieval.predict import predict as _predict

    return _predict(paths, workspace, config)
