ALTER TABLE "organizations" ADD COLUMN "recording_retention_days" integer;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "transcript_retention_days" integer;