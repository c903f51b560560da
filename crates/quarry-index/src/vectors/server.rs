//! A collection on a Qdrant server or cluster (`qdrant-client`, gRPC), for
//! indexes that outgrow one machine.

use qdrant_client::qdrant::vector_output::Vector;
use qdrant_client::qdrant::{
    Condition, CountPointsBuilder, CreateCollectionBuilder, CreateFieldIndexCollectionBuilder, DeletePointsBuilder,
    Distance, FieldType, Filter, GetPointsBuilder, PointId, PointStruct, Query, QueryPointsBuilder,
    UpsertPointsBuilder, Value, VectorParamsBuilder, point_id::PointIdOptions, vectors_config::Config,
};
use qdrant_client::{Payload, Qdrant};
use quarry_core::{ChunkId, DocId};

use super::{Point, VectorStore, point_id};
use crate::error::{IndexError, Result};

/// Points per upsert request.
const UPSERT_BATCH: usize = 256;

/// Vectors in a Qdrant server collection.
pub struct ServerStore {
    client: Qdrant,
    collection: String,
    location: String,
    rt: tokio::runtime::Runtime,
}

impl std::fmt::Debug for ServerStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerStore").field("location", &self.location).finish()
    }
}

impl ServerStore {
    /// Connects and makes sure the collection exists with `dim`-wide cosine
    /// vectors and a keyword index on `doc_id`. `api_key` comes from
    /// QDRANT_API_KEY when `None`.
    pub fn open(url: &str, collection: &str, dim: usize, api_key: Option<String>) -> Result<ServerStore> {
        let location = format!("{url}/{collection}");
        let err = |m: String| IndexError::vectors(&location, m);
        let key = api_key.or_else(|| std::env::var("QDRANT_API_KEY").ok()).filter(|k| !k.is_empty());
        let client = Qdrant::from_url(url)
            .api_key(key)
            .skip_compatibility_check()
            .timeout(std::time::Duration::from_secs(30))
            .connect_timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(|e| err(format!("cannot set up a client: {e}")))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| err(format!("cannot start a runtime: {e}")))?;
        let store = ServerStore { client, collection: collection.to_owned(), location: location.clone(), rt };
        store.ensure_collection(dim)?;
        Ok(store)
    }

    fn err(&self, e: impl std::fmt::Display) -> IndexError {
        IndexError::vectors(&self.location, e.to_string())
    }

    fn ensure_collection(&self, dim: usize) -> Result<()> {
        let exists = self.rt.block_on(self.client.collection_exists(&self.collection)).map_err(|e| {
            self.err(format!("cannot reach the server ({e}); is Qdrant running and is its gRPC port (6334) right?"))
        })?;
        if exists {
            let info = self.rt.block_on(self.client.collection_info(&self.collection)).map_err(|e| self.err(e))?;
            let size = info
                .result
                .and_then(|r| r.config)
                .and_then(|c| c.params)
                .and_then(|p| p.vectors_config)
                .and_then(|v| v.config)
                .and_then(|c| match c {
                    Config::Params(p) => Some(p.size),
                    Config::ParamsMap(_) => None,
                });
            match size {
                Some(s) if s as usize == dim => Ok(()),
                Some(s) => Err(self.err(format!(
                    "the collection holds {s}-dimensional vectors but the embedder makes {dim}; use another collection"
                ))),
                None => Err(self.err("the collection has named vectors; quarry needs one unnamed dense vector")),
            }
        } else {
            self.rt
                .block_on(
                    self.client.create_collection(
                        CreateCollectionBuilder::new(&self.collection)
                            .vectors_config(VectorParamsBuilder::new(dim as u64, Distance::Cosine)),
                    ),
                )
                .map_err(|e| self.err(e))?;
            self.rt
                .block_on(self.client.create_field_index(
                    CreateFieldIndexCollectionBuilder::new(&self.collection, "doc_id", FieldType::Keyword).wait(true),
                ))
                .map_err(|e| self.err(e))?;
            Ok(())
        }
    }
}

fn doc_filter(docs: &[DocId]) -> Option<Filter> {
    if docs.is_empty() {
        return None;
    }
    let values: Vec<String> = docs.iter().map(|d| d.as_str().to_owned()).collect();
    Some(Filter::must([Condition::matches("doc_id", values)]))
}

fn chunk_id_of(payload: &std::collections::HashMap<String, Value>) -> Option<ChunkId> {
    payload.get("chunk_id")?.as_str()?.parse().ok()
}

impl VectorStore for ServerStore {
    fn upsert(&self, points: Vec<Point>) -> Result<()> {
        let mut structs = Vec::with_capacity(points.len());
        for p in points {
            let payload = Payload::try_from(serde_json::json!({
                "chunk_id": p.chunk_id.as_str(),
                "doc_id": p.chunk_id.doc_id().as_str(),
            }))
            .map_err(|e| self.err(e))?;
            structs.push(PointStruct::new(point_id(&p.chunk_id), p.vector, payload));
        }
        for batch in structs.chunks(UPSERT_BATCH) {
            self.rt
                .block_on(
                    self.client.upsert_points(UpsertPointsBuilder::new(&self.collection, batch.to_vec()).wait(true)),
                )
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    fn delete_docs(&self, docs: &[DocId]) -> Result<()> {
        let Some(filter) = doc_filter(docs) else {
            return Ok(());
        };
        self.rt
            .block_on(self.client.delete_points(DeletePointsBuilder::new(&self.collection).points(filter).wait(true)))
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn search(&self, vector: &[f32], k: usize, docs: &[DocId]) -> Result<Vec<(ChunkId, f32)>> {
        let mut q = QueryPointsBuilder::new(&self.collection)
            .query(Query::new_nearest(vector.to_vec()))
            .limit(k as u64)
            .with_payload(true);
        if let Some(f) = doc_filter(docs) {
            q = q.filter(f);
        }
        let res = self.rt.block_on(self.client.query(q)).map_err(|e| self.err(e))?;
        Ok(res.result.into_iter().filter_map(|p| Some((chunk_id_of(&p.payload)?, p.score))).collect())
    }

    fn vectors(&self, ids: &[ChunkId]) -> Result<Vec<(ChunkId, Vec<f32>)>> {
        let pids: Vec<PointId> =
            ids.iter().map(|i| PointId { point_id_options: Some(PointIdOptions::Num(point_id(i))) }).collect();
        let res = self
            .rt
            .block_on(
                self.client
                    .get_points(GetPointsBuilder::new(&self.collection, pids).with_vectors(true).with_payload(true)),
            )
            .map_err(|e| self.err(e))?;
        Ok(res
            .result
            .into_iter()
            .filter_map(|p| {
                let id = chunk_id_of(&p.payload)?;
                match p.vectors?.get_vector()? {
                    Vector::Dense(d) => Some((id, d.data)),
                    _ => None,
                }
            })
            .collect())
    }

    fn flush(&self) -> Result<()> {
        // Upserts wait for the server to apply them.
        Ok(())
    }

    fn optimize(&self) -> Result<()> {
        // The server optimizes in the background.
        Ok(())
    }

    fn count(&self) -> Result<u64> {
        let res = self
            .rt
            .block_on(self.client.count(CountPointsBuilder::new(&self.collection).exact(true)))
            .map_err(|e| self.err(e))?;
        Ok(res.result.map_or(0, |r| r.count))
    }
}
