//! Embedded Qdrant (`qdrant-edge`) on disk inside the index directory.

use std::path::{Path, PathBuf};

use qdrant_edge::{
    Condition, CreateIndex, Distance, EdgeConfigBuilder, EdgeShard, EdgeVectorParamsBuilder, FieldCondition,
    FieldIndexOperations, Filter, JsonPath, Match, NamedQuery, PayloadFieldSchema, PayloadSchemaType, PointId,
    PointInsertOperations, PointOperations, PointStructPersisted, QueryEnum, QueryRequest, ScoringQuery,
    UpdateOperation, VectorInternal, VectorStructInternal, WithPayloadInterface, WithVector,
};
use quarry_core::{ChunkId, DocId};

use super::{Point, VectorStore, point_id};
use crate::error::{IndexError, Result};

const VECTOR: &str = "dense";

/// Vectors in an embedded Qdrant shard.
pub struct EdgeStore {
    path: PathBuf,
    shard: EdgeShard,
}

impl std::fmt::Debug for EdgeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeStore").field("path", &self.path).finish()
    }
}

impl EdgeStore {
    /// Opens the shard at `path`, creating it for `dim`-wide vectors when missing.
    pub fn open(path: &Path, dim: usize) -> Result<EdgeStore> {
        let loc = path.display().to_string();
        let exists = path.join("edge_config.json").exists();
        let shard = if exists {
            EdgeShard::load(path, None).map_err(|e| IndexError::vectors(&loc, e))?
        } else {
            std::fs::create_dir_all(path).map_err(|e| IndexError::io(path, e))?;
            let config = EdgeConfigBuilder::new()
                .vector(VECTOR, EdgeVectorParamsBuilder::new(dim, Distance::Cosine).on_disk(true).build())
                .build();
            let shard = EdgeShard::new(path, config).map_err(|e| IndexError::vectors(&loc, e))?;
            let field: JsonPath = "doc_id".parse().map_err(|_| IndexError::vectors(&loc, "bad field name"))?;
            shard
                .update(UpdateOperation::FieldIndexOperation(FieldIndexOperations::CreateIndex(CreateIndex {
                    field_name: field,
                    field_schema: Some(PayloadFieldSchema::FieldType(PayloadSchemaType::Keyword)),
                })))
                .map_err(|e| IndexError::vectors(&loc, e))?;
            shard
        };
        Ok(EdgeStore { path: path.to_owned(), shard })
    }

    fn err(&self, e: impl ToString) -> IndexError {
        IndexError::vectors(self.path.display().to_string(), e)
    }
}

fn doc_filter(docs: &[DocId]) -> Option<Filter> {
    if docs.is_empty() {
        return None;
    }
    let key: JsonPath = "doc_id".parse().ok()?;
    let values: Vec<String> = docs.iter().map(|d| d.as_str().to_owned()).collect();
    Some(Filter::new_must(Condition::Field(FieldCondition::new_match(key, Match::from(values)))))
}

fn chunk_id_of(payload: Option<&qdrant_edge::Payload>) -> Option<ChunkId> {
    payload?.0.get("chunk_id")?.as_str()?.parse().ok()
}

impl VectorStore for EdgeStore {
    fn upsert(&self, points: Vec<Point>) -> Result<()> {
        if points.is_empty() {
            return Ok(());
        }
        let list: Vec<PointStructPersisted> = points
            .into_iter()
            .map(|p| {
                let payload =
                    serde_json::json!({"chunk_id": p.chunk_id.as_str(), "doc_id": p.chunk_id.doc_id().as_str()});
                let named = std::collections::HashMap::from([(VECTOR.to_owned(), VectorInternal::Dense(p.vector))]);
                qdrant_edge::PointStruct::new(
                    PointId::NumId(point_id(&p.chunk_id)),
                    qdrant_edge::Vectors(VectorStructInternal::Named(named)),
                    payload,
                )
                .into()
            })
            .collect();
        self.shard
            .update(UpdateOperation::PointOperation(PointOperations::UpsertPoints(PointInsertOperations::PointsList(
                list,
            ))))
            .map_err(|e| self.err(e))
    }

    fn delete_docs(&self, docs: &[DocId]) -> Result<()> {
        let Some(filter) = doc_filter(docs) else {
            return Ok(());
        };
        self.shard
            .update(UpdateOperation::PointOperation(PointOperations::DeletePointsByFilter(filter)))
            .map_err(|e| self.err(e))
    }

    fn search(&self, vector: &[f32], k: usize, docs: &[DocId]) -> Result<Vec<(ChunkId, f32)>> {
        let request = QueryRequest {
            prefetches: Vec::new(),
            query: Some(ScoringQuery::Vector(QueryEnum::Nearest(NamedQuery {
                query: VectorInternal::Dense(vector.to_vec()),
                using: Some(VECTOR.into()),
            }))),
            filter: doc_filter(docs),
            score_threshold: None,
            limit: k,
            offset: 0,
            params: None,
            with_vector: WithVector::Bool(false),
            with_payload: WithPayloadInterface::Bool(true),
        };
        let hits = self.shard.query(request).map_err(|e| self.err(e))?;
        Ok(hits.into_iter().filter_map(|h| Some((chunk_id_of(h.payload.as_ref())?, h.score))).collect())
    }

    fn vectors(&self, ids: &[ChunkId]) -> Result<Vec<(ChunkId, Vec<f32>)>> {
        let pids: Vec<PointId> = ids.iter().map(|i| PointId::NumId(point_id(i))).collect();
        let records = self
            .shard
            .retrieve(&pids, Some(WithPayloadInterface::Bool(true)), Some(WithVector::Bool(true)))
            .map_err(|e| self.err(e))?;
        Ok(records
            .into_iter()
            .filter_map(|r| {
                let id = chunk_id_of(r.payload.as_ref())?;
                let v = match r.vector? {
                    VectorStructInternal::Named(mut m) => match m.remove(VECTOR)? {
                        VectorInternal::Dense(v) => v,
                        _ => return None,
                    },
                    VectorStructInternal::Single(v) => v,
                    VectorStructInternal::MultiDense(_) => return None,
                };
                Some((id, v))
            })
            .collect())
    }

    fn flush(&self) -> Result<()> {
        self.shard.flush();
        Ok(())
    }

    fn optimize(&self) -> Result<()> {
        self.shard.optimize().map(|_| ()).map_err(|e| self.err(e))
    }

    fn count(&self) -> Result<u64> {
        let n = self.shard.count(qdrant_edge::CountRequest { filter: None, exact: true }).map_err(|e| self.err(e))?;
        Ok(n as u64)
    }
}
