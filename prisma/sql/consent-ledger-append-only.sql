
-- The consent ledger is append-only, enforced by the database itself: no code path and no ad-hoc SQL
-- session can rewrite what a customer agreed to. The offline (JavaScript) migration runner splits
-- statements at every semicolon, even inside a function body, so the body's semicolons are written
-- as the escape \073 inside an E'' string.
CREATE OR REPLACE FUNCTION rapport_reject_ledger_change() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN RAISE EXCEPTION ''consent_events is append-only: % is not allowed'', TG_OP USING ERRCODE = ''insufficient_privilege''\073 END\073';

CREATE TRIGGER consent_events_append_only BEFORE UPDATE OR DELETE ON "consent_events" FOR EACH ROW EXECUTE FUNCTION rapport_reject_ledger_change();

CREATE TRIGGER consent_events_no_truncate BEFORE TRUNCATE ON "consent_events" FOR EACH STATEMENT EXECUTE FUNCTION rapport_reject_ledger_change();
