CREATE TABLE "tool_organization_settings" (
	"tool_id" uuid NOT NULL,
	"organization_id" uuid NOT NULL,
	"credential_id" uuid,
	"headers" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tool_organization_settings_tool_id_organization_id_pk" PRIMARY KEY("tool_id","organization_id")
);
--> statement-breakpoint
CREATE TABLE "tools" (
	"id" uuid PRIMARY KEY NOT NULL,
	"organization_id" uuid,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"function_name" text,
	"description" text NOT NULL,
	"parameters" jsonb,
	"settings" jsonb NOT NULL,
	"discovered_functions" jsonb,
	"discovered_at" timestamp with time zone,
	"discovery_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "tool_organization_settings" ADD CONSTRAINT "tool_organization_settings_tool_id_tools_id_fk" FOREIGN KEY ("tool_id") REFERENCES "public"."tools"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tool_organization_settings" ADD CONSTRAINT "tool_organization_settings_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tool_organization_settings" ADD CONSTRAINT "tool_organization_settings_credential_id_credentials_id_fk" FOREIGN KEY ("credential_id") REFERENCES "public"."credentials"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tools" ADD CONSTRAINT "tools_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "tools_org_idx" ON "tools" USING btree ("organization_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "tools_org_function_unique" ON "tools" USING btree ("organization_id","function_name") WHERE organization_id is not null and function_name is not null;--> statement-breakpoint
-- Agent configs name their tools as `tools: [{ "toolId": … }]` (with an optional function selection) instead of `toolIds: [...]`.
UPDATE "agents" SET "draft" = ("draft" - 'toolIds') || jsonb_build_object('tools', CASE WHEN jsonb_typeof("draft"->'toolIds') = 'array' THEN (SELECT coalesce(jsonb_agg(jsonb_build_object('toolId', t.id) ORDER BY t.n), '[]'::jsonb) FROM jsonb_array_elements_text("draft"->'toolIds') WITH ORDINALITY AS t(id, n)) ELSE '[]'::jsonb END) WHERE "draft"->'toolIds' IS NOT NULL;--> statement-breakpoint
UPDATE "agent_versions" SET "config" = ("config" - 'toolIds') || jsonb_build_object('tools', CASE WHEN jsonb_typeof("config"->'toolIds') = 'array' THEN (SELECT coalesce(jsonb_agg(jsonb_build_object('toolId', t.id) ORDER BY t.n), '[]'::jsonb) FROM jsonb_array_elements_text("config"->'toolIds') WITH ORDINALITY AS t(id, n)) ELSE '[]'::jsonb END) WHERE "config"->'toolIds' IS NOT NULL;
