import Foundation

/// GET /openapi.json: an OpenAPI 3.1 document of the routes this server serves.
enum OpenAPIDocument {
    /// `hidden`: the embedding width (`dimensions`' maximum); `maxLength`: the model's positions;
    /// `maxBatch`: `--max-client-batch-size`.
    static func json(routes: [String], apiKey: Bool, hidden: Int, maxLength: Int, maxBatch: Int) -> String {
        let (paths, error) = document(routes: routes, apiKey: apiKey, hidden: hidden, maxLength: maxLength, maxBatch: maxBatch)
        var doc: [String: Any] = [
            "openapi": "3.1.0",
            "info": ["title": "electra serve", "version": "1.0", "description": "Text Embeddings Inference's API plus ELECTRA's own tasks"],
            "paths": paths,
            "components": ["schemas": ["Error": error]],
        ]
        if apiKey {
            doc["components"] = ["schemas": ["Error": error], "securitySchemes": ["key": ["type": "http", "scheme": "bearer"]]]
            doc["security"] = [["key": [String]()]]
        }
        return JSONWriter.write(doc)
    }

    /// The fields each POST route's body may hold: the document's properties, so that what it
    /// states and what the server accepts are one list. Any other field is refused (422).
    static func requestFields(routes: [String], hidden: Int, maxLength: Int, maxBatch: Int) -> [String: (all: Set<String>, required: [String])] {
        let (paths, _) = document(routes: routes, apiKey: false, hidden: hidden, maxLength: maxLength, maxBatch: maxBatch)
        var out: [String: (all: Set<String>, required: [String])] = [:]
        for (path, value) in paths {
            guard let post = (value as? [String: Any])?["post"] as? [String: Any],
                  let body = post["requestBody"] as? [String: Any], let content = body["content"] as? [String: Any],
                  let json = content["application/json"] as? [String: Any], let schema = json["schema"] as? [String: Any],
                  let properties = schema["properties"] as? [String: Any] else { continue }
            out[path] = (Set(properties.keys), schema["required"] as? [String] ?? [])
        }
        return out
    }

    static func document(routes: [String], apiKey: Bool, hidden: Int, maxLength: Int, maxBatch: Int) -> (paths: [String: Any], error: [String: Any]) {
        let error: [String: Any] = ["type": "object", "required": ["error", "error_type"],
                                    "properties": ["error": ["type": "string"], "error_type": ["type": "string", "enum": ["Validation", "Tokenizer", "Empty", "Overloaded", "Backend", "Unhealthy"]]]]
        // Inputs may not be empty (400 Empty); null stands for "not given" everywhere.
        let text: [String: Any] = ["type": "string", "minLength": 1]
        // A batch over `--max-client-batch-size` is refused with 413 (TEI), so the schema says so.
        let textOrTexts: [String: Any] = ["oneOf": [text, ["type": "array", "items": text, "minItems": 1, "maxItems": maxBatch]]]
        let flag: [String: Any] = ["type": ["boolean", "null"]]
        func int(_ min: Int, _ max: Int? = nil) -> [String: Any] {
            // Integers up to 10^15 (JSONRequest.isInteger: exact in a double, no token id or count is larger).
            ["type": ["integer", "null"], "minimum": min, "maximum": max ?? 999_999_999_999_999]
        }
        let truncation: [String: Any] = ["truncate": flag, "truncation_direction": ["type": ["string", "null"], "enum": ["Right", "Left", "right", "left", NSNull()]]]
        func errorResponses() -> [String: Any] {
            let e: [String: Any] = ["content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]]
            var r: [String: Any] = [:]
            for (code, what) in [("400", "Empty input"), ("413", "Too many inputs, an input too long, or a body over the payload limit"),
                                 ("422", "Invalid JSON or a wrong field"), ("424", "The model does not serve this task"), ("429", "Overloaded")] {
                r[code] = e.merging(["description": what]) { a, _ in a }
            }
            if apiKey { r["401"] = ["description": "Missing or wrong API key"] }
            return r
        }
        /// `rules`: further schema keys (a field that needs another: if/then).
        func post(_ summary: String, _ properties: [String: Any], required: [String], response: [String: Any], rules: [String: Any] = [:]) -> [String: Any] {
            var responses = errorResponses()
            responses["200"] = ["description": "OK", "content": ["application/json": ["schema": response]]]
            // Other fields only as null ("not given"): anything else is refused (Routes).
            let schema: [String: Any] = ["type": "object", "required": required, "properties": properties, "additionalProperties": ["type": "null"]]
                .merging(rules) { a, _ in a }
            return ["post": ["summary": summary,
                             "requestBody": ["required": true, "content": ["application/json": ["schema": schema]]],
                             "responses": responses]]
        }
        let floats: [String: Any] = ["type": "array", "items": ["type": "number"]]
        let labelScores: [String: Any] = ["type": "array", "items": ["type": "object", "properties": ["score": ["type": "number"], "label": ["type": "string"]]]]
        var paths: [String: Any] = [
            "/embed": post("Pooled, optionally normalised embeddings (TEI)", ["inputs": textOrTexts, "normalize": flag, "dimensions": int(1, hidden)].merging(truncation) { a, _ in a },
                           required: ["inputs"], response: ["type": "array", "items": floats]),
            "/embed_all": post("Every token's last hidden state (TEI)", ["inputs": textOrTexts].merging(truncation) { a, _ in a },
                               required: ["inputs"], response: ["type": "array", "items": ["type": "array", "items": floats]]),
            "/v1/embeddings": post("OpenAI-compatible embeddings", ["input": textOrTexts, "model": ["type": ["string", "null"]], "encoding_format": ["type": ["string", "null"], "enum": ["float", "base64", NSNull()]],
                                                                    "dimensions": int(1, hidden), "user": ["type": ["string", "null"]]],
                                   required: ["input"], response: ["type": "object"]),
            "/tokenize": post("Tokens with byte offsets (TEI)", ["inputs": textOrTexts, "add_special_tokens": flag], required: ["inputs"],
                              response: ["type": "array", "items": ["type": "array", "items": ["type": "object"]]]),
            "/decode": post("Ids back to text (TEI)", ["ids": ["oneOf": [["type": "array", "items": ["type": "integer", "minimum": 0, "maximum": 4294967295], "minItems": 1],
                                                                         ["type": "array", "items": ["type": "array", "items": ["type": "integer", "minimum": 0, "maximum": 4294967295], "minItems": 1], "minItems": 1, "maxItems": maxBatch]]],
                                                       "skip_special_tokens": flag], required: ["ids"], response: ["type": "array", "items": ["type": "string"]]),
        ]
        if routes.contains("/predict") {
            // One text (not empty), or a pair, whose texts may be empty ([CLS] a [SEP] b [SEP] still).
            let one: [String: Any] = ["type": "array", "items": text, "minItems": 1, "maxItems": 1]
            let pair: [String: Any] = ["type": "array", "items": ["type": "string"], "minItems": 2, "maxItems": 2]
            paths["/predict"] = post("Labels with scores (TEI)", ["inputs": ["oneOf": [text, one, pair,
                                                                                   ["type": "array", "items": ["oneOf": [one, pair]], "minItems": 1, "maxItems": maxBatch]]],
                                                                  "raw_scores": flag].merging(truncation) { a, _ in a },
                                     required: ["inputs"], response: ["oneOf": [labelScores, ["type": "array", "items": labelScores]]])
        }
        if routes.contains("/rerank") {
            // A query or a passage may be empty: the pair is still [CLS] a [SEP] b [SEP].
            let anyText: [String: Any] = ["type": "string"]
            paths["/rerank"] = post("Texts ranked by a cross-encoder (TEI)", ["query": anyText, "texts": ["type": "array", "items": anyText, "minItems": 1, "maxItems": maxBatch],
                                                                                "raw_scores": flag, "return_text": flag].merging(truncation) { a, _ in a },
                                    required: ["query", "texts"], response: ["type": "array", "items": ["type": "object", "properties": ["index": ["type": "integer"], "text": ["type": "string"], "score": ["type": "number"]]]])
        }
        if routes.contains("/detect") {
            paths["/detect"] = post("Replaced-token detection per token and word", ["inputs": textOrTexts, "threshold": ["type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 1]],
                                    required: ["inputs"], response: ["oneOf": [["type": "object"], ["type": "array"]]])
        }
        if routes.contains("/fill-mask") {
            paths["/fill-mask"] = post("HF pipeline('fill-mask')", ["inputs": ["oneOf": [["type": "string", "pattern": "\\[MASK\\]"], ["type": "array", "items": ["type": "string", "pattern": "\\[MASK\\]"], "minItems": 1, "maxItems": maxBatch]]],
                                                                         "top_k": int(1), "targets": ["type": ["array", "null"], "items": text, "minItems": 1]],
                                       required: ["inputs"], response: ["type": "array"])
        }
        if routes.contains("/token-classification") {
            paths["/token-classification"] = post("HF pipeline('token-classification')", ["inputs": textOrTexts, "aggregation_strategy": ["type": ["string", "null"], "enum": ["none", "simple", "first", "average", "max", NSNull()]],
                                                                                        "ignore_labels": ["type": ["array", "null"], "items": ["type": "string"]],
                                                                                        "stride": int(0, maxLength - 3), "truncate": flag],
                                                  required: ["inputs"], response: ["type": "array"],
                                                  // As in HF: a stride needs an aggregation strategy other than none.
                                                  rules: ["if": ["required": ["stride"], "properties": ["stride": ["type": "integer"]]],
                                                          "then": ["required": ["aggregation_strategy"], "properties": ["aggregation_strategy": ["type": "string", "enum": ["simple", "first", "average", "max"]]]]])
        }
        if routes.contains("/question-answering") {
            paths["/question-answering"] = post("HF pipeline('question-answering')", ["question": textOrTexts, "context": textOrTexts, "top_k": int(1),
                                                                                     "max_answer_len": int(1), "max_seq_len": int(4, maxLength), "doc_stride": int(0, maxLength),
                                                                                     "handle_impossible_answer": flag, "align_to_words": flag],
                                                required: ["question", "context"], response: ["oneOf": [["type": "object"], ["type": "array"]]])
        }
        paths["/info"] = ["get": ["summary": "The model and the server's limits", "responses": ["200": ["description": "OK", "content": ["application/json": ["schema": ["type": "object"]]]]]]]
        paths["/health"] = ["get": ["summary": "200 once the model is loaded and warm", "responses": ["200": ["description": "OK"]]]]
        paths["/metrics"] = ["get": ["summary": "Prometheus metrics", "responses": ["200": ["description": "OK", "content": ["text/plain": ["schema": ["type": "string"]]]]]]]
        return (paths, error)
    }
}
