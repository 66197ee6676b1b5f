ALTER TABLE "phone_numbers" ADD COLUMN "assistant_request" jsonb;--> statement-breakpoint
ALTER TABLE "runtimes" ADD COLUMN "role" text DEFAULT 'all' NOT NULL;--> statement-breakpoint
ALTER TABLE "runtimes" ADD COLUMN "version" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "runtimes" ADD COLUMN "host" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "runtimes" ADD COLUMN "media_url" text;--> statement-breakpoint
ALTER TABLE "runtimes" ADD COLUMN "active_calls" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "runtimes" ADD COLUMN "draining_since" timestamp with time zone;