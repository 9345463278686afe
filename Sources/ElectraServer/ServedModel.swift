import Electra
import ElectraPipelines
import ElectraTokenizers
import Foundation

/// The model a server serves: its head decides the routes (a classifier: /predict, and
/// /rerank with one output; a discriminator: /detect; a generator: /fill-mask; NER:
/// /token-classification; QA: /question-answering; every model: /embed and the TEI utilities).
public final class ServedModel: Sendable {
    public let model: any ElectraHeadModel
    public let tokenizer: ElectraTokenizer
    public let task: ElectraTask
    public let routes: [String]
    let classifier: TextClassificationPipeline?
    let detector: ReplacedTokenDetectionPipeline?
    let filler: FillMaskPipeline?
    let tagger: TokenClassificationPipeline?
    let reader: QuestionAnsweringPipeline?

    public var maxInputLength: Int { model.config.maxPositionEmbeddings }
    public var isReranker: Bool { task == .sequenceClassification && model.config.numLabels == 1 }

    public init(folder: URL, dtype: InferenceDType, batchSize: Int) throws {
        let config = try ElectraConfig.load(from: try ModelFolder.configURL(folder))
        task = try ElectraTask.fromConfig(config, hint: "serve reads ELECTRA classes only")
        guard config.maxPositionEmbeddings >= 3 else {
            throw ElectraError("config.json: max_position_embeddings is \(config.maxPositionEmbeddings): no room for a text between [CLS] and [SEP]")
        }
        let options = PipelineOptions(dtype: dtype, batchSize: batchSize)
        var classifier: TextClassificationPipeline?, detector: ReplacedTokenDetectionPipeline?, filler: FillMaskPipeline?
        var tagger: TokenClassificationPipeline?, reader: QuestionAnsweringPipeline?
        let model: any ElectraHeadModel, tokenizer: ElectraTokenizer
        switch task {
        case .sequenceClassification:
            let p = try TextClassificationPipeline(folder: folder, options: options)
            (classifier, model, tokenizer) = (p, p.model, p.tokenizer)
        case .pretraining:
            let p = try ReplacedTokenDetectionPipeline(folder: folder, options: options)
            (detector, model, tokenizer) = (p, p.model, p.tokenizer)
        case .maskedLM:
            let p = try FillMaskPipeline(folder: folder, options: options)
            (filler, model, tokenizer) = (p, p.model, p.tokenizer)
        case .tokenClassification:
            let p = try TokenClassificationPipeline(folder: folder, options: options)
            (tagger, model, tokenizer) = (p, p.model, p.tokenizer)
        case .questionAnswering:
            let p = try QuestionAnsweringPipeline(folder: folder, options: options)
            (reader, model, tokenizer) = (p, p.model, p.tokenizer)
        case .base, .multipleChoice:
            let p = try FeatureExtractionPipeline(folder: folder, options: options)
            (model, tokenizer) = (p.model, p.tokenizer)
        }
        self.model = model
        self.tokenizer = tokenizer
        self.classifier = classifier
        self.detector = detector
        self.filler = filler
        self.tagger = tagger
        self.reader = reader
        var routes = ["/embed", "/embed_all", "/v1/embeddings", "/tokenize", "/decode"]
        if classifier != nil { routes.append("/predict") }
        if classifier != nil && model.config.numLabels == 1 { routes.append("/rerank") }
        if detector != nil { routes.append("/detect") }
        if filler != nil { routes.append("/fill-mask") }
        if tagger != nil { routes.append("/token-classification") }
        if reader != nil { routes.append("/question-answering") }
        self.routes = routes
    }

    /// One forward before the server answers /health: the first pass allocates workspaces and
    /// (int8/bf16) builds packed weights, which should not land on a user's request.
    public func warmUp() throws {
        let e = try tokenizer.encode("warm up")
        _ = try model(ElectraInputs(encodings: [e], padId: tokenizer.padTokenId))
        _ = try model.backbone(ElectraInputs(encodings: [e], padId: tokenizer.padTokenId))
    }
}
