-- +goose Up

-- Deletion of a filed record (Art. 18) as a request: a unit asks, the
-- province decides, and an approved deletion files the record's next
-- version marked deleted, which no reader is shown. Nothing is removed.
ALTER TABLE filing_requests DROP CONSTRAINT filing_requests_kind_check;
ALTER TABLE filing_requests ADD CONSTRAINT filing_requests_kind_check
    CHECK (kind IN ('change', 'deletion', 'revocation'));
ALTER TABLE filing_requests DROP CONSTRAINT filing_requests_state_check;
ALTER TABLE filing_requests ADD CONSTRAINT filing_requests_state_check
    CHECK (state IN ('change_requested', 'awaiting_consent', 'deletion_requested', 'revocation_reported',
                     'filed', 'deleted', 'revoked'));
