from alembic import context

import rooms.forum_models  # noqa: F401  (the forum's tables join Base.metadata)
from rooms.migrate import include_object
from rooms.models import Base

connection = context.config.attributes["connection"]

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                  include_object=include_object)
with context.begin_transaction():
    context.run_migrations()
