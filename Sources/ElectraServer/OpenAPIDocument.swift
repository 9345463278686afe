import Foundation

/// GET /openapi.json: an OpenAPI 3.1 document of the routes this server serves.
enum OpenAPIDocument {
    static func json(routes: [String], apiKey: Bool) -> String {
        let error: [String: Any] = ["type": "object", "required": ["error", "error_type"],
                                    "properties": ["error": ["type": "string"], "error_type": ["type": "string", "enum": ["Validation", "Tokenizer", "Empty", "Overloaded", "Backend", "Unhealthy"]]]]
        let textOrTexts: [String: Any] = ["oneOf": [["type": "string"], ["type": "array", "items": ["type": "string"]]]]
        let truncation: [String: Any] = ["truncate": ["type": ["boolean", "null"]], "truncation_direction": ["type": "string", "enum": ["Right", "Left", "right", "left"]]]
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
        func post(_ summary: String, _ properties: [String: Any], required: [String], response: [String: Any]) -> [String: Any] {
            var responses = errorResponses()
            responses["200"] = ["description": "OK", "content": ["application/json": ["schema": response]]]
            return ["post": ["summary": summary,
                             "requestBody": ["required": true, "content": ["application/json": ["schema": ["type": "object", "required": required, "properties": properties]]]],
                             "responses": responses]]
        }
        let floats: [String: Any] = ["type": "array", "items": ["type": "number"]]
        let labelScores: [String: Any] = ["type": "array", "items": ["type": "object", "properties": ["score": ["type": "number"], "label": ["type": "string"]]]]
        var paths: [String: Any] = [
            "/embed": post("Pooled, optionally normalised embeddings (TEI)", ["inputs": textOrTexts, "normalize": ["type": "boolean"], "dimensions": ["type": ["integer", "null"], "minimum": 1]].merging(truncation) { a, _ in a },
                           required: ["inputs"], response: ["type": "array", "items": floats]),
            "/embed_all": post("Every token's last hidden state (TEI)", ["inputs": textOrTexts].merging(truncation) { a, _ in a },
                               required: ["inputs"], response: ["type": "array", "items": ["type": "array", "items": floats]]),
            "/v1/embeddings": post("OpenAI-compatible embeddings", ["input": textOrTexts, "model": ["type": ["string", "null"]], "encoding_format": ["type": "string", "enum": ["float", "base64"]],
                                                                    "dimensions": ["type": ["integer", "null"], "minimum": 1], "user": ["type": ["string", "null"]]],
                                   required: ["input"], response: ["type": "object"]),
            "/tokenize": post("Tokens with byte offsets (TEI)", ["inputs": textOrTexts, "add_special_tokens": ["type": "boolean"]], required: ["inputs"],
                              response: ["type": "array", "items": ["type": "array", "items": ["type": "object"]]]),
            "/decode": post("Ids back to text (TEI)", ["ids": ["oneOf": [["type": "array", "items": ["type": "integer", "minimum": 0]], ["type": "array", "items": ["type": "array", "items": ["type": "integer", "minimum": 0]]]]],
                                                       "skip_special_tokens": ["type": "boolean"]], required: ["ids"], response: ["type": "array", "items": ["type": "string"]]),
        ]
        if routes.contains("/predict") {
            paths["/predict"] = post("Labels with scores (TEI)", ["inputs": ["oneOf": [["type": "string"], ["type": "array", "items": ["type": "string"], "minItems": 1, "maxItems": 2],
                                                                                   ["type": "array", "items": ["type": "array", "items": ["type": "string"], "minItems": 1, "maxItems": 2]]]],
                                                                  "raw_scores": ["type": "boolean"]].merging(truncation) { a, _ in a },
                                     required: ["inputs"], response: ["oneOf": [labelScores, ["type": "array", "items": labelScores]]])
        }
        if routes.contains("/rerank") {
            paths["/rerank"] = post("Texts ranked by a cross-encoder (TEI)", ["query": ["type": "string"], "texts": ["type": "array", "items": ["type": "string"]],
                                                                                "raw_scores": ["type": "boolean"], "return_text": ["type": "boolean"]].merging(truncation) { a, _ in a },
                                    required: ["query", "texts"], response: ["type": "array", "items": ["type": "object", "properties": ["index": ["type": "integer"], "text": ["type": "string"], "score": ["type": "number"]]]])
        }
        if routes.contains("/detect") {
            paths["/detect"] = post("Replaced-token detection per token and word", ["inputs": textOrTexts, "threshold": ["type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1]],
                                    required: ["inputs"], response: ["oneOf": [["type": "object"], ["type": "array"]]])
        }
        if routes.contains("/fill-mask") {
            paths["/fill-mask"] = post("HF pipeline('fill-mask')", ["inputs": textOrTexts, "top_k": ["type": "integer", "minimum": 1], "targets": ["type": "array", "items": ["type": "string"]]],
                                       required: ["inputs"], response: ["type": "array"])
        }
        if routes.contains("/token-classification") {
            paths["/token-classification"] = post("HF pipeline('token-classification')", ["inputs": textOrTexts, "aggregation_strategy": ["type": "string", "enum": ["none", "simple", "first", "average", "max"]],
                                                                                        "ignore_labels": ["type": "array", "items": ["type": "string"]], "stride": ["type": "integer", "minimum": 0]],
                                                  required: ["inputs"], response: ["type": "array"])
        }
        if routes.contains("/question-answering") {
            paths["/question-answering"] = post("HF pipeline('question-answering')", ["question": textOrTexts, "context": textOrTexts, "top_k": ["type": "integer", "minimum": 1],
                                                                                     "max_answer_len": ["type": "integer", "minimum": 1], "max_seq_len": ["type": "integer"], "doc_stride": ["type": "integer", "minimum": 0],
                                                                                     "handle_impossible_answer": ["type": "boolean"], "align_to_words": ["type": "boolean"]],
                                                required: ["question", "context"], response: ["oneOf": [["type": "object"], ["type": "array"]]])
        }
        paths["/info"] = ["get": ["summary": "The model and the server's limits", "responses": ["200": ["description": "OK", "content": ["application/json": ["schema": ["type": "object"]]]]]]]
        paths["/health"] = ["get": ["summary": "200 once the model is loaded and warm", "responses": ["200": ["description": "OK"]]]]
        paths["/metrics"] = ["get": ["summary": "Prometheus metrics", "responses": ["200": ["description": "OK", "content": ["text/plain": ["schema": ["type": "string"]]]]]]]
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
}
